"""Workspaces and their members."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import asdict
from typing import Any, TypeVar

from ..auth import subject_problem
from ..domain.errors import Conflict, DeletionIncomplete, InvalidInput, NexodError, NotFound
from ..domain.records import Member, Workspace
from . import credentials, runs, triggers
from .access import authorize
from .context import Principal, Services

log = logging.getLogger(__name__)
T = TypeVar("T")


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


# -- deletion ------------------------------------------------------------------------------------------
DELETION_BATCH = 50


def delete_workspace(
    services: Services, principal: Principal, workspace_id: str, confirm: str | None
) -> dict[str, Any]:
    """Delete a workspace for good (admins, with its name typed again as `confirm`).

    A soft delete with a tombstone (migration 0011): at once the workspace leaves every list and every route
    under it answers 404; then its active runs are cancelled (their executions stopped) and its credential
    values destroyed through the vault; then the deletion is complete and audited as `workspace.delete`.
    If a step fails the answer is `deletion_incomplete` (503) and the same call, repeated, finishes the rest:
    each step is idempotent and the workspace stays reachable to its admins' DELETE until it completes."""
    with services.store.tx(workspace_id, principal.sub) as uow:
        authorize(uow, principal, "workspace.delete", deleting=True)
        ws = uow.workspaces.current()
        assert ws is not None
        if confirm is None or confirm != ws.name:
            raise InvalidInput(
                "confirm: type the workspace's exact name (?confirm=<name>) to delete it with its flows, runs and"
                " credentials",
                {"field": "confirm", "in": "query"},
            )
        marked = uow.workspaces.mark_deleted(principal.sub)
        assert marked is not None
        assert marked.deleted_at is not None
    cause = f"workspace deleted by {principal.sub}"
    _step("removing its triggers", lambda: triggers.remove_all(services, principal, workspace_id))
    cancelled = _step("cancelling its runs", lambda: _cancel_active_runs(services, principal, workspace_id, cause))
    destroyed = _step("destroying its credentials", lambda: _destroy_credentials(services, principal, workspace_id))
    with services.store.tx(workspace_id, principal.sub) as uow:
        if uow.workspaces.complete_deletion():
            uow.audit.record(
                "workspace.delete",
                "workspace",
                workspace_id,
                {
                    "name": marked.name,
                    "requested_by": marked.deleted_by,
                    "requested_at": marked.deleted_at.isoformat(),
                    "runs_cancelled": cancelled,
                    "credentials_destroyed": destroyed,
                },
            )
        done = uow.workspaces.current()
    assert done is not None
    return {
        "id": workspace_id,
        "name": done.name,
        "deleted_at": done.deleted_at,
        "deleted_by": done.deleted_by,
        "deletion_completed_at": done.deletion_completed_at,
        "runs_cancelled": cancelled,
        "credentials_destroyed": destroyed,
    }


def _step(what: str, work: Callable[[], T]) -> T:
    """One step of a deletion; any failure becomes `deletion_incomplete`, which a repeated DELETE resumes."""
    try:
        return work()
    except NexodError as exc:
        reason = exc.message
    except Exception as exc:  # an orchestrator or vault client error: the step is retried by the next DELETE
        log.exception("workspace deletion: %s failed", what)
        reason = type(exc).__name__
    raise DeletionIncomplete(
        f"the workspace is deleted for its users, but {what} failed ({reason}): repeat the DELETE to finish",
        {"step": what},
    )


def _cancel_active_runs(services: Services, principal: Principal, workspace_id: str, cause: str) -> int:
    """Cancel QUEUED and RUNNING runs, one transaction each, through the run cancellation of the API."""
    cancelled = 0
    while True:
        with services.store.tx(workspace_id, principal.sub) as uow:
            active = [r.id for s in ("RUNNING", "QUEUED") for r in uow.runs.newest(DELETION_BATCH, status=s, test=None)]
        if not active:
            return cancelled
        for run_id in active:
            with services.store.tx(workspace_id, principal.sub) as uow:
                run = uow.runs.get(run_id, for_update=True)
                if run is None or run.is_terminal:
                    continue
                after_commit = runs.stop(services, uow, run, cause, {"reason": "workspace.delete"})
            after_commit()
            cancelled += 1


def _destroy_credentials(services: Services, principal: Principal, workspace_id: str) -> list[str]:
    """Each credential's value through the vault first, then its metadata: a failure leaves the credential
    listed, so the next attempt destroys it again (deleting a value twice is harmless)."""
    with services.store.tx(workspace_id, principal.sub) as uow:
        names = [c.name for c in uow.credentials.all()]
    if not names:
        return []
    vault = credentials.vault_of(services)
    for name in names:
        vault.delete(workspace_id, name)
        with services.store.tx(workspace_id, principal.sub) as uow:
            if uow.credentials.delete(name):
                uow.audit.record("credential.delete", "credential", name, {"reason": "workspace.delete"})
    return names
