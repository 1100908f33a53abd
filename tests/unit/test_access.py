"""Who may do what: every action of the permission table, as every role, and as a non-member."""

from __future__ import annotations

import uuid

import pytest

from nexod.domain.errors import Forbidden, NotFound
from nexod.services.access import authorize, parse_id, permissions, require
from nexod.services.context import Principal
from tests.support.fakes import MemoryStore, MemoryUnitOfWork

# The product's rule, written independently of the code: viewers read (and check a flow document),
# members build and run flows and manage credentials, admins also manage members and the egress
# allow-list, read the audit log and set the budget.
READ = {"viewer", "member", "admin"}
BUILD = {"member", "admin"}
MANAGE = {"admin"}
POLICY = {
    "workspace.read": READ,
    "workspace.allowed_hosts": MANAGE,
    "workspace.llm_settings": MANAGE,
    "workspace.delete": MANAGE,  # the tenant and everything in it
    "members.read": READ,
    "members.manage": MANAGE,
    "flows.read": READ,
    "flows.validate": READ,
    "flows.write": BUILD,
    "flows.publish": BUILD,
    "flows.live": BUILD,
    "runs.read": READ,
    "runs.start": BUILD,
    "runs.cancel": BUILD,
    "runs.redrive": BUILD,
    "runs.test": BUILD,  # test runs of drafts execute nodes and spend the workspace's money
    "runs.label": BUILD,
    "agents.read": READ,  # specs, versions, the node runs that used them
    "agents.validate": READ,  # converts a spec between markdown and JSON, saves nothing
    "agents.write": BUILD,
    "agents.publish": BUILD,
    "agents.live": BUILD,
    # every member may read approvals; whether one may decide is what each approval says (its approvers)
    "approvals.read": READ,
    "approvals.decide": READ,
    "credentials.read": READ,  # metadata: names, types, fields set; no role ever reads a value
    "credentials.write": BUILD,
    "audit.read": MANAGE,
    "usage.read": READ,  # what the workspace spends, and its budget
    "budget.read": READ,
    "budget.write": MANAGE,  # spending limits
    "knowledge.read": READ,  # knowledge bases and their documents
    "knowledge.query": READ,
    "knowledge.write": BUILD,  # create knowledge bases, add and delete documents
    "triggers.read": READ,
    "triggers.write": BUILD,
    "limits.read": READ,  # concurrency limits and the runs they count
    "flows.limits": BUILD,
    "workspace.limits": MANAGE,  # caps every member's runs together
}
WS = "0b7e7a8e-2d2a-4f5c-9d55-6a8f3f1f0c11"


def as_role(role: str | None) -> tuple[MemoryUnitOfWork, Principal]:
    """A unit of work in a workspace where `me` has `role` (None: not a member) and someone else is admin."""
    store = MemoryStore()
    with store.tx(WS, "someone|else") as uow:
        uow.workspaces.create("access", "someone|else")
        uow.members.put("someone|else", "admin")
        if role:
            uow.members.put("me", role)
    with store.tx(WS, "me") as uow:
        return uow, Principal(sub="me")


def test_the_permission_table_covers_exactly_the_policy():
    assert set(permissions()) == set(POLICY)


@pytest.mark.parametrize("action", sorted(POLICY))
@pytest.mark.parametrize("role", ["viewer", "member", "admin"])
def test_each_role_may_do_exactly_what_the_policy_says(action, role):
    # Given a caller with this role in the workspace
    tx, principal = as_role(role)
    if role in POLICY[action]:
        # Then an allowed action returns the caller's role
        assert authorize(tx, principal, action) == role
    else:
        # And a refused one is a 403 naming the caller's role and the role needed
        with pytest.raises(Forbidden) as refused:
            authorize(tx, principal, action)
        needed = min(POLICY[action], key=["viewer", "member", "admin"].index)
        assert refused.value.message.startswith(f"your role in this workspace is {role}; you need {needed} to ")


@pytest.mark.parametrize("action", sorted(POLICY))
def test_a_non_member_is_told_the_workspace_does_not_exist(action):
    # Given a caller who is not a member (the workspace has other members)
    tx, principal = as_role(None)
    # Then every action is a 404 naming the workspace, never a 403
    with pytest.raises(NotFound, match=f"workspace '{WS}' not found"):
        authorize(tx, principal, action)


def test_an_unknown_action_is_a_programming_error_not_a_permission():
    tx, principal = as_role("admin")
    with pytest.raises(KeyError):
        authorize(tx, principal, "runs.delete-everything")


@pytest.mark.parametrize(
    ("role", "needed", "allowed"),
    [
        ("viewer", "viewer", True),
        ("viewer", "member", False),
        ("viewer", "admin", False),
        ("member", "viewer", True),
        ("member", "member", True),
        ("member", "admin", False),
        ("admin", "viewer", True),
        ("admin", "member", True),
        ("admin", "admin", True),
    ],
)
def test_roles_are_ordered_viewer_member_admin(role, needed, allowed):
    tx, principal = as_role(role)
    if allowed:
        assert require(tx, principal, needed) == role
    else:
        with pytest.raises(Forbidden):
            require(tx, principal, needed)


@pytest.mark.parametrize(("needed", "what"), [("member", "build and run flows"), ("admin", "manage the workspace")])
def test_a_refusal_says_what_the_needed_role_allows(needed, what):
    tx, principal = as_role("viewer")
    with pytest.raises(Forbidden) as refused:
        require(tx, principal, needed)
    assert refused.value.message == f"your role in this workspace is viewer; you need {needed} to {what}"


def test_ids_are_normalised_uuids():
    value = uuid.uuid4()
    assert parse_id(str(value).upper(), "flow") == str(value)
    assert parse_id("{" + str(value) + "}", "flow") == str(value)


@pytest.mark.parametrize("value", ["not-a-uuid", "", "1234", "../etc/passwd", None, 42])
def test_anything_but_a_uuid_is_not_found_naming_what(value):
    with pytest.raises(NotFound) as missing:
        parse_id(value, "run")
    assert missing.value.message == f"run '{value}' not found"
