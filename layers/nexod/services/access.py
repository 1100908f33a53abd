"""Roles: viewers read, members build and run, admins manage the workspace. Unknown workspaces are 404.

Every permission the API checks is declared once, in permissions(): a service names the action it performs,
never a role, so what each role may do is decided here and tested here (tests/unit/test_access.py) as
well as route by route (tests/integration/test_api_matrix.py).
"""

from __future__ import annotations

import uuid

from ..domain.errors import Forbidden, NotFound
from ..domain.records import Flow
from ..ports import UnitOfWork
from .context import Principal

ROLES = ("viewer", "member", "admin")  # in order: each role may do all that the ones before it may


def permissions() -> dict[str, str]:
    """Each action the API checks -> the least role allowed to perform it."""
    # A function rather than a module constant so that mutation testing (`make mutation`) mutates every
    # entry: a viewer allowed to change the allow-list must fail a test.
    return {
        "workspace.read": "viewer",
        "workspace.allowed_hosts": "admin",  # egress of every http node: an admin decision
        "workspace.llm_settings": "admin",  # which models, at what rate: spends the workspace's money
        "workspace.delete": "admin",  # the tenant and everything in it
        "members.read": "viewer",
        "members.manage": "admin",
        "flows.read": "viewer",
        "flows.validate": "viewer",  # checks a document, saves nothing
        "flows.write": "member",  # create, edit, delete
        "flows.publish": "member",
        "flows.live": "member",
        "runs.read": "viewer",
        "runs.start": "member",
        "runs.cancel": "member",
        "runs.redrive": "member",
        "runs.test": "member",  # test runs of the draft: they execute nodes and spend the workspace's money
        "runs.label": "member",  # name a run (PATCH .../runs/{run})
        "agents.read": "viewer",
        "agents.validate": "viewer",  # converts a spec between markdown and JSON, saves nothing
        "agents.write": "member",  # create, edit the draft, delete
        "agents.publish": "member",
        "agents.live": "member",
        # Any member may be named an approver; each approval says who may decide it (its approvers).
        "approvals.read": "viewer",
        "approvals.decide": "viewer",
        "credentials.read": "viewer",  # metadata only: no role can read a value
        "credentials.write": "member",  # create, rotate, delete
        "audit.read": "admin",
        "usage.read": "viewer",
        "budget.read": "viewer",
        "budget.write": "admin",  # spending limits: an admin decision
        "knowledge.read": "viewer",  # knowledge bases and their documents
        "knowledge.query": "viewer",  # a search reads, and spends only the embedding of the query
        "knowledge.write": "member",  # create knowledge bases, add and delete documents
        "triggers.read": "viewer",  # triggers and their deliveries (never a webhook secret)
        "triggers.write": "member",  # create, change, enable, test, rotate a secret, delete
        "limits.read": "viewer",  # concurrency limits and how many runs hold or wait for a slot
        "flows.limits": "member",  # a flow's concurrency limit
        "workspace.limits": "admin",  # the workspace's concurrency limit: caps every member's runs
    }


def _allows(role: str) -> str:
    # Only member and admin are ever needed and missing: nobody is refused what a viewer may do.
    return {"member": "build and run flows", "admin": "manage the workspace"}[role]


def flow_or_404(uow: UnitOfWork, flow_id: str, for_update: bool = False) -> Flow:
    """The workspace's flow, or the 404 every service answers for a flow it cannot see."""
    flow = uow.flows.get(flow_id, for_update=for_update)
    if flow is None:
        raise NotFound(f"flow '{flow_id}' not found")
    return flow


def parse_id(value: str, what: str) -> str:
    """Ids are UUIDs; anything else cannot exist, so it is a 404 like another workspace's id."""
    try:
        return str(uuid.UUID(value))
    except (ValueError, AttributeError, TypeError):
        raise NotFound(f"{what} '{value}' not found") from None


def require(uow: UnitOfWork, principal: Principal, needed: str, *, deleting: bool = False) -> str:
    """The caller's role in the unit of work's workspace, if it is at least `needed`. A deleted workspace
    does not exist for anyone; `deleting` still finds one whose deletion has not completed (to finish it)."""
    role = uow.members.role_of(principal.sub, deleting=deleting)
    if role is None:  # not a member: the workspace does not exist for them
        raise NotFound(f"workspace '{uow.workspace_id}' not found")
    if ROLES.index(role) < ROLES.index(needed):
        raise Forbidden(f"your role in this workspace is {role}; you need {needed} to {_allows(needed)}")
    return role


def authorize(uow: UnitOfWork, principal: Principal, action: str, *, deleting: bool = False) -> str:
    """Allow `action` (a key of permissions()) to the caller, or refuse: 404 to outsiders, 403 to lesser roles."""
    return require(uow, principal, permissions()[action], deleting=deleting)
